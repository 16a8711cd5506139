export { FileValidationError, UploadTokenError, type FileValidationCode } from './errors';
export { ContentTypeValidator, FileExtensionValidator, FileSizeValidator, validateFile, type FileFacts, type FileValidator } from './validators';
export { SNIFF_BYTES, sniffContentType, sniffContentTypes } from './sniff';
export { clientFileName } from './client-names';
export { receiveMultipart, type MultipartFileOptions, type MultipartLimits, type MultipartOptions, type MultipartResult, type ReceivedFile } from './multipart';
export { httpError, sendError, type HttpErrorBody } from './http-errors';
export { DirectUploads, type DirectUploadsOptions, type IssuedUpload, type SubjectOptions } from './direct-uploads';
export { redirectToFile, sendFile, type Downloadable, type RedirectOptions, type SendFileOptions } from './downloads';
